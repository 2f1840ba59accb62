"""The billing product: capability packages over the platform in `core` and `storage`."""
