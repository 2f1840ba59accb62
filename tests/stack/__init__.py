"""Tests of the local stack (devserver/) over HTTP: make dev, persistence, races, the client."""
