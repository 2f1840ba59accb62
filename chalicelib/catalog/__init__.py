"""What is for sale and how to pay: plans, payment methods by country, reference data."""
