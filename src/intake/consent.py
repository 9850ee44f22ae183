"""Consent texts. Each version is kept forever: an interest records which words it agreed to."""

from __future__ import annotations

CURRENT_VERSION = "2026-11-v1"

TEXTS: dict[str, dict[str, str]] = {
    "2026-11-v1": {
        "nb": (
            "Jeg samtykker til at det jeg har oppgitt her, også hva jeg ønsker en gruppe om, "
            "lagres for å finne en selvhjelpsgruppe til meg, og at igangsetteren for gruppen "
            "kan kontakte meg. Jeg kan når som helst trekke samtykket og slette alt med "
            "kvitteringskoden."
        ),
        "nn": (
            "Eg samtykkjer til at det eg har oppgitt her, også kva eg ønskjer ei gruppe om, "
            "vert lagra for å finne ei sjølvhjelpsgruppe til meg, og at igangsetjaren for gruppa "
            "kan kontakte meg. Eg kan når som helst trekkje samtykket og slette alt med "
            "kvitteringskoden."
        ),
        "en": (
            "I consent to what I have entered here, including what I want a group about, being "
            "stored to find a self-help group for me, and to the group's facilitator contacting "
            "me. I can withdraw my consent and delete everything with my receipt code at any time."
        ),
    }
}
