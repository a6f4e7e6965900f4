// Schema: Entity.key is unique (and indexed)
// Run by `fraudnet neo4j sync` (and `fraudnet neo4j schema`) before any write. No parameters.
CREATE CONSTRAINT entity_key IF NOT EXISTS FOR (n:Entity) REQUIRE n.key IS UNIQUE
