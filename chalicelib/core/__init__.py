"""The platform underneath every capability: settings, clock, errors, money, validation, secrets, telemetry, AWS clients."""
