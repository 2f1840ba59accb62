"""What is for sale and how to pay for it: plans and payment methods by country, and their reference data."""
