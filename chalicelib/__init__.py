"""The billing domain: everything app.py imports."""
