from navid.campaigns.personalise import personalise, template_fields_unknown


def test_personalise_fills_known_fields_and_leaves_unknown_text_alone() -> None:
    text = "Dear {first_name} {last_name}, {offer}. {salary} {}"
    assert personalise(text, {"first_name": "Sara", "offer": "Gold deposit"}) == (
        "Dear Sara , Gold deposit. {salary} {}"
    )


def test_unknown_fields_are_listed_once_in_order() -> None:
    assert template_fields_unknown("{salary} {first_name} {iban} {salary}") == ["salary", "iban"]
