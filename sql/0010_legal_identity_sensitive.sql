-- 0010_legal_identity_sensitive.sql — legal_review's counterfactual twin
-- (pipeline/analyses/legal_twin.h): whether each finding depends on who the
-- parties are. true: the twin's review lacks it or gives it another
-- severity; false: the same finding with the same severity; NULL: the
-- document was reviewed without a twin. Findings only the twin's review made
-- are in results.output->'twin'->'pairs' (status 'only_twin').
ALTER TABLE legal_findings ADD COLUMN identity_sensitive boolean;
CREATE INDEX legal_findings_identity_sensitive_idx ON legal_findings (document_id)
    WHERE identity_sensitive;
