"""Grants (授权): an approved share application, which becomes Casbin policy while in force."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date


class GrantStatus(str, enum.Enum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"  # never stored: an ACTIVE grant past its validUntil reads EXPIRED
    NOT_YET_VALID = "NOT_YET_VALID"  # never stored: an ACTIVE grant before its validFrom


@dataclass(frozen=True)
class Grant:
    """Who (application), which fields, which purpose, which modes, for which period
    (授权使用的方式、范围和期限, 001 chapter 数据共享)."""

    id: str
    application: str
    resource: str
    fields: tuple[str, ...]  # schema coordinates; empty = every conditional field of the resource
    purpose: str
    modes: tuple[str, ...]
    valid_from: date
    valid_until: date
    status: GrantStatus  # as stored: ACTIVE, SUSPENDED or REVOKED
    mask_fields: tuple[str, ...] = ()  # coordinates this grant serves masked only
    mask_rules: dict[str, str] = field(default_factory=dict)  # coordinate → rule (implies masked)

    def masks(self, coordinate: str) -> bool:
        return coordinate in self.mask_fields or coordinate in self.mask_rules

    def status_on(self, day: date) -> GrantStatus:
        """The status as every reader sees it on `day`."""
        if self.status is not GrantStatus.ACTIVE:
            return self.status
        if day > self.valid_until:
            return GrantStatus.EXPIRED
        if day < self.valid_from:
            return GrantStatus.NOT_YET_VALID
        return GrantStatus.ACTIVE

    def covers(self, coordinate: str, conditional_coordinates: frozenset[str]) -> bool:
        if self.fields:
            return coordinate in self.fields
        return coordinate in conditional_coordinates
