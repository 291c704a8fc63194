"""From a stored message to rows: wake, claims, drain, batch store, bulk SQL, rollups,
attribution, reprocess, retention."""
