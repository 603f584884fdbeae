"""Orgs: the unit of isolation (SPEC §9), with the clock, fault rules and journal each keeps."""
