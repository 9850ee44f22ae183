"""Consent texts. Each version is kept forever: an interest records which words it agreed to.

The form offers :data:`CURRENT_VERSION`; earlier versions stay valid for clients that still send
them (the API takes ``consent.text_version``). A change of wording is a new version, never an
edit, and must say the same as the privacy page, the receipt and the status page.
"""

from __future__ import annotations

#: 2026-12-v2: names the data controller, says what is kept while waiting, that withdrawing
#: deletes the whole registration at once, and that it is deleted after a group runs on its own.
CURRENT_VERSION = "2026-12-v2"

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
    },
    "2026-12-v2": {
        "nb": (
            "Jeg samtykker til at det jeg oppgir her, også hva jeg ønsker en gruppe om, lagres "
            "for å finne en selvhjelpsgruppe til meg, og til at jeg får beskjed om gruppen og "
            "møtene. Behandlingsansvarlig er stedet jeg melder meg hos (se personvernsiden). "
            "Det lagres så lenge jeg venter. Jeg kan når som helst trekke meg med "
            "kvitteringskoden: da slettes alt jeg har registrert med en gang, og bare anonyme "
            "tall blir igjen. Blir jeg med i en gruppe, slettes alt en fast tid etter at gruppen "
            "går av seg selv eller avsluttes (personvernsiden sier hvor lenge)."
        ),
        "nn": (
            "Eg samtykkjer til at det eg oppgir her, også kva eg ønskjer ei gruppe om, vert "
            "lagra for å finne ei sjølvhjelpsgruppe til meg, og til at eg får melding om gruppa "
            "og møta. Behandlingsansvarleg er staden eg melder meg hos (sjå personvernsida). "
            "Det vert lagra så lenge eg ventar. Eg kan når som helst trekkje meg med "
            "kvitteringskoden: då vert alt eg har registrert sletta med ein gong, og berre "
            "anonyme tal vert att. Vert eg med i ei gruppe, vert alt sletta ei fast tid etter at "
            "gruppa går av seg sjølv eller vert avslutta (personvernsida seier kor lenge)."
        ),
        "en": (
            "I consent to what I enter here, including what I want a group about, being stored "
            "to find a self-help group for me, and to being told about the group and its "
            "meetings. The data controller is the place I sign up with (see the privacy page). "
            "It is kept while I wait. I can withdraw at any time with my receipt code: "
            "everything I registered is then deleted at once, and only anonymous counts remain. "
            "If I join a group, everything is deleted a set time after the group runs on its own "
            "or is closed (the privacy page says how long)."
        ),
    },
}
