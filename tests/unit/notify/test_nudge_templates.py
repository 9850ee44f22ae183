"""The suggestion message (issue 13 §2): a real link fits one SMS; stop and expiry are said."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notify.model import Channel, Language
from notify.render import fits_sms, render

URL = "https://samhjelp.no/forslag/" + "Ab3dE6fGh9_-" + "x" * 10  # 22 characters, like a token
CONTEXT = {
    "org_name": "LINK Vestfold og Telemark",
    "accept_url": URL,
    "respond_by": datetime(2026, 12, 21, 15, 0, tzinfo=UTC),
}


@pytest.mark.parametrize("lang", list(Language))
def test_a_real_link_fits_one_sms_in_full(lang: Language) -> None:
    sms = render("suggestion_offer", lang, CONTEXT, channel=Channel.SMS).text
    assert fits_sms(sms) and sms.endswith(URL)


def test_the_email_says_until_when_the_link_works_and_how_to_stop() -> None:
    texts = {lang: render("suggestion_offer", lang, CONTEXT).text for lang in Language}
    assert len(set(texts.values())) == 3
    assert "mandag 21. desember kl. 16:00" in texts[Language.NB]  # Oslo time
    assert "stoppe disse meldingene" in texts[Language.NB]
    assert "stoppe desse meldingane" in texts[Language.NN]
    assert "Monday 21 December at 16:00" in texts[Language.EN]
    assert "stop these messages" in texts[Language.EN]
    assert all(URL in t for t in texts.values())
    assert "at most one such message a month" in texts[Language.EN]
