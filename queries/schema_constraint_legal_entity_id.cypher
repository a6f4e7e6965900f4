// Schema: LegalEntity.id is unique (and indexed)
// Run by `fraudnet neo4j sync` (and `fraudnet neo4j schema`) before any write. No parameters.
CREATE CONSTRAINT legal_entity_id IF NOT EXISTS FOR (n:LegalEntity) REQUIRE n.id IS UNIQUE
