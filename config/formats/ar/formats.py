# Arabic numbers as the site writes them: Western digits (as in times, postcodes and phone numbers) with the
# Unicode CLDR symbols for Arabic in Latin digits, decimal "." and grouping "," — the marks Farsi pages use
# too, so "1.3 كم" and "1.3 کیلومتر" agree. Django's own Arabic formats use the Maghreb's "1,3".
# Every other format comes from Django's Arabic locale.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
