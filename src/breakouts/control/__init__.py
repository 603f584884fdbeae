"""The control plane (SPEC §10): orgs, clock, faults, mail and journal for tests and operators."""
