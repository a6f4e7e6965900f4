// Schema: SyncState.id is unique (and indexed)
// Run by `fraudnet neo4j sync` (and `fraudnet neo4j schema`) before any write. No parameters.
CREATE CONSTRAINT sync_state_id IF NOT EXISTS FOR (n:SyncState) REQUIRE n.id IS UNIQUE
