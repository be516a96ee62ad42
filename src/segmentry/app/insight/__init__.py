"""Insight: what a CRM manager asks of the ledger beyond a segment's members — predictive
models (CLV, churn), cohorts, first-product analysis, segment transitions, the RFM grid and
product recommendations. Each view is a module here, reading through ``analytics``; the CLI
(``segmentry insight …``), the JSON API and the web pages (``/insight``) call these."""
