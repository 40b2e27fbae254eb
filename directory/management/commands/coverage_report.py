"""Print how many offices show a street, phone, e-mail, website, hours; optionally write it into data/README.md."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from directory.coverage import coverage

START, END = "<!-- coverage:start -->", "<!-- coverage:end -->"


class Command(BaseCommand):
    help = "Contact-path coverage per kind of office, and the offices the sources left empty."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write-readme", action="store_true", help="replace the table in data/README.md")
        parser.add_argument("--list-empty", action="store_true", help="also list the offices without any contact")

    def handle(self, *args: Any, **options: Any) -> None:
        report = coverage()
        table = report.markdown()
        self.stdout.write(table)
        if options["list_empty"] or not options["write_readme"]:
            self.stdout.write(
                f"\nOffices the sources left without phone, e-mail, website or street ({len(report.empty)}):"
            )
            for name in report.empty:
                self.stdout.write(f"- {name}")
        if options["write_readme"]:
            path = settings.DATA_DIR / "README.md"
            text = path.read_text(encoding="utf-8")
            empty = "\n".join(f"- {name}" for name in report.empty)
            block = (
                f"{START}\n{table}\n\n<details><summary>Offices the sources left without phone, e-mail, website "
                f"or street ({len(report.empty)})</summary>\n\n{empty}\n\n</details>\n{END}"
            )
            if START in text:
                text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
            else:
                text += f"\n## Coverage (`manage.py coverage_report --write-readme`)\n\n{block}\n"
            path.write_text(text, encoding="utf-8")
            self.stdout.write(self.style.SUCCESS(f"wrote the table into {path}"))
