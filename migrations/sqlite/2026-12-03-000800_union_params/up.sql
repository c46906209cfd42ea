-- Observation's combo-* parameters are served from the rows of the two parameters each is
-- the union of (fhir::search_params::SearchParamDef::union_of); their own rows go.
DELETE FROM idx_token WHERE res_type = 'Observation' AND param IN ('combo-code', 'combo-data-absent-reason', 'combo-value-concept', 'combo-code-value-concept', 'combo-code-value-quantity');
DELETE FROM idx_quantity WHERE res_type = 'Observation' AND param IN ('combo-value-quantity', 'combo-code-value-quantity');
