"""Who stands on each rung of the escalation ladder for a home, from the records.

Dispatchers by their tier, the home's family accounts, then its emergency
contacts: those have no account, so they are reached at their phone number (an
SMS gateway behind the webhook channel) under an id made from the home and
their place in its list.
"""

from __future__ import annotations

from collections.abc import Sequence

from alerts.escalation import Tier
from alerts.notifiers.base import Recipient
from records.accounts import AccountStore
from records.homes import HomeStore


class RecordRecipients:
    def __init__(self, accounts: AccountStore, homes: HomeStore) -> None:
        self.accounts = accounts
        self.homes = homes

    def reach(self, home_id: str, tiers: Sequence[Tier]) -> list[tuple[Recipient, str | None]]:
        found: list[tuple[Recipient, str | None]] = []
        for tier in tiers:
            if tier.kind == "dispatcher":
                found += [
                    (Recipient(kind="dispatcher", id=account.username), None)
                    for account in self.accounts.dispatchers(tier.number or 1)
                ]
            elif tier.kind == "family":
                found += [
                    (Recipient(kind="family", id=account.username), None)
                    for account in self.accounts.families_of(home_id)
                ]
            else:
                profile = self.homes.profile(home_id)
                contacts = () if profile is None else profile.emergency_contacts
                found += [
                    (Recipient(kind="emergency_contact", id=f"{home_id}-c{n}"), contact.phone)
                    for n, contact in enumerate(contacts, start=1)
                ]
        return found
