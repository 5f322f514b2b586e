"""After-sales: returns (RMA), refunds and exchanges."""
