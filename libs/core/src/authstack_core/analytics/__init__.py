"""Analytics on ClickHouse: the store, the exports and the admin query sandbox."""
