"""The per-organisation rule of how long a group below target waits for more members: edited
in the console's organisation page, validated, stored as an override, read by the matching."""

from __future__ import annotations

from matching.model import Rules
from matching.service import rules_from
from staff.org_settings import RULES, parse_rules, rule_defaults


def _(message: str) -> str:
    return message


def test_the_console_offers_the_rule_with_its_default() -> None:
    assert "below_target_after_days" in {spec.key for spec in RULES}
    assert rule_defaults(3)["below_target_after_days"] == Rules().below_target_after_days == 0


def test_the_rule_is_validated_and_stored_only_when_it_differs() -> None:
    defaults = rule_defaults(3)
    rules, errors = parse_rules({"below_target_after_days": "14"}, {}, defaults, _)
    assert errors == {} and rules == {"below_target_after_days": 14}
    assert rules_from(rules) == Rules(below_target_after_days=14)
    for bad in ("-1", "366", "two"):
        _rules, errors = parse_rules({"below_target_after_days": bad}, {}, defaults, _)
        assert "below_target_after_days" in errors
    same, errors = parse_rules({"below_target_after_days": "0"}, {}, defaults, _)
    assert errors == {} and same == {}
