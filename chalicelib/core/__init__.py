"""The platform underneath: settings, clock, errors, money, validation, secrets, telemetry."""
