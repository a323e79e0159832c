"""Analytics on ClickHouse: the store, batched event writes, admin SQL kept in its project."""
