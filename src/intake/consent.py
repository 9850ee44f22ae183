"""Consent texts. Each version is kept forever: an interest records which words it agreed to.

The form offers :data:`CURRENT_VERSION`; earlier versions stay valid for clients that still send
them (the API takes ``consent.text_version``). A change of wording is a new version, never an
edit, and must say the same as the privacy page, the receipt and the status page. What a
version lets the facilitator see is :data:`FACILITATOR_SEES_CONTACT`, which the roster obeys.
"""

from __future__ import annotations

#: 2026-12-v2: names the data controller, says what is kept while waiting, that withdrawing
#: deletes the whole registration at once, and that it is deleted after a group runs on its own.
#: 2026-12-v3: v2 plus that the facilitator of a group I say yes to sees my e-mail or mobile
#: number (the roster), to contact me before the first meeting; v2 had promised nobody would.
#: 2026-12-v4: v3, but no longer "kept while I wait": a waiting registration is deleted a set
#: time after the person last showed they still want a group, and they are asked first if
#: they left a contact (intake.lapse).
CURRENT_VERSION = "2026-12-v4"

#: Versions whose words let the facilitator of a group the person said yes to see their contact
#: (v1: "the facilitator may contact me"; v3 and v4 say so outright). v2 did not: people who agreed
#: to v2 are listed on the roster as "contact not shared" and reached only by the service.
FACILITATOR_SEES_CONTACT: frozenset[str] = frozenset({"2026-11-v1", "2026-12-v3", "2026-12-v4"})

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
    "2026-12-v3": {
        "nb": (
            "Jeg samtykker til at det jeg oppgir her, også hva jeg ønsker en gruppe om, lagres "
            "for å finne en selvhjelpsgruppe til meg, og til at jeg får beskjed om gruppen og "
            "møtene. Behandlingsansvarlig er stedet jeg melder meg hos (se personvernsiden). "
            "Det lagres så lenge jeg venter. Når jeg sier ja til en gruppe, kan igangsetteren "
            "som starter den, se e-postadressen eller mobilnummeret jeg har oppgitt, for å "
            "kontakte meg før det første møtet. Jeg kan når som helst trekke meg med "
            "kvitteringskoden: da slettes alt jeg har registrert med en gang, og bare anonyme "
            "tall blir igjen. Blir jeg med i en gruppe, slettes alt, også det igangsetteren kan "
            "se, en fast tid etter at gruppen går av seg selv eller avsluttes (personvernsiden "
            "sier hvor lenge)."
        ),
        "nn": (
            "Eg samtykkjer til at det eg oppgir her, også kva eg ønskjer ei gruppe om, vert "
            "lagra for å finne ei sjølvhjelpsgruppe til meg, og til at eg får melding om gruppa "
            "og møta. Behandlingsansvarleg er staden eg melder meg hos (sjå personvernsida). "
            "Det vert lagra så lenge eg ventar. Når eg seier ja til ei gruppe, kan igangsetjaren "
            "som startar ho, sjå e-postadressa eller mobilnummeret eg har oppgitt, for å "
            "kontakte meg før det første møtet. Eg kan når som helst trekkje meg med "
            "kvitteringskoden: då vert alt eg har registrert sletta med ein gong, og berre "
            "anonyme tal vert att. Vert eg med i ei gruppe, vert alt sletta, også det "
            "igangsetjaren kan sjå, ei fast tid etter at gruppa går av seg sjølv eller vert "
            "avslutta (personvernsida seier kor lenge)."
        ),
        "en": (
            "I consent to what I enter here, including what I want a group about, being stored "
            "to find a self-help group for me, and to being told about the group and its "
            "meetings. The data controller is the place I sign up with (see the privacy page). "
            "It is kept while I wait. When I say yes to a group, the facilitator who starts it "
            "can see the e-mail address or mobile number I gave, to contact me before the first "
            "meeting. I can withdraw at any time with my receipt code: everything I registered "
            "is then deleted at once, and only anonymous counts remain. If I join a group, "
            "everything, including what the facilitator can see, is deleted a set time after "
            "the group runs on its own or is closed (the privacy page says how long)."
        ),
    },
    "2026-12-v4": {
        "nb": (
            "Jeg samtykker til at det jeg oppgir her, også hva jeg ønsker en gruppe om, lagres for "
            "å finne en selvhjelpsgruppe til meg, og til at jeg får beskjed om gruppen og møtene. "
            "Behandlingsansvarlig er stedet jeg melder meg hos (se personvernsiden). Mens jeg "
            "venter, lagres det en fast tid etter at jeg sist viste at jeg fortsatt vil ha en "
            "gruppe, og slettes så; har jeg oppgitt e-postadresse eller mobilnummer, blir jeg spurt"
            " først (personvernsiden sier hvor lenge). Når jeg sier ja til en gruppe, kan "
            "igangsetteren som starter den, se e-postadressen eller mobilnummeret jeg har oppgitt, "
            "for å kontakte meg før det første møtet. Jeg kan når som helst trekke meg med "
            "kvitteringskoden: da slettes alt jeg har registrert med en gang, og bare anonyme tall "
            "blir igjen. Blir jeg med i en gruppe, slettes alt, også det igangsetteren kan se, en "
            "fast tid etter at gruppen går av seg selv eller avsluttes (personvernsiden sier hvor "
            "lenge)."
        ),
        "nn": (
            "Eg samtykkjer til at det eg oppgir her, også kva eg ønskjer ei gruppe om, vert lagra "
            "for å finne ei sjølvhjelpsgruppe til meg, og til at eg får melding om gruppa og møta. "
            "Behandlingsansvarleg er staden eg melder meg hos (sjå personvernsida). Medan eg "
            "ventar, vert det lagra ei fast tid etter at eg sist viste at eg framleis vil ha ei "
            "gruppe, og vert så sletta; har eg oppgitt e-postadresse eller mobilnummer, vert eg "
            "spurd først (personvernsida seier kor lenge). Når eg seier ja til ei gruppe, kan "
            "igangsetjaren som startar ho, sjå e-postadressa eller mobilnummeret eg har oppgitt, "
            "for å kontakte meg før det første møtet. Eg kan når som helst trekkje meg med "
            "kvitteringskoden: då vert alt eg har registrert sletta med ein gong, og berre anonyme "
            "tal vert att. Vert eg med i ei gruppe, vert alt sletta, også det igangsetjaren kan "
            "sjå, ei fast tid etter at gruppa går av seg sjølv eller vert avslutta (personvernsida "
            "seier kor lenge)."
        ),
        "en": (
            "I consent to what I enter here, including what I want a group about, being stored to "
            "find a self-help group for me, and to being told about the group and its meetings. The"
            " data controller is the place I sign up with (see the privacy page). While I wait, it "
            "is kept for a set time after I last show that I still want a group, and then deleted; "
            "if I gave an e-mail address or mobile number, I am asked first (the privacy page says "
            "how long). When I say yes to a group, the facilitator who starts it can see the e-mail"
            " address or mobile number I gave, to contact me before the first meeting. I can "
            "withdraw at any time with my receipt code: everything I registered is then deleted at "
            "once, and only anonymous counts remain. If I join a group, everything, including what "
            "the facilitator can see, is deleted a set time after the group runs on its own or is "
            "closed (the privacy page says how long)."
        ),
    },
}
