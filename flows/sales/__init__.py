"""Monthly sales pipeline on the bundled sample data in ``flows/sales/data``."""
