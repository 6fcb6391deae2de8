-- How far a run's judging has got, for the progress of `scan --distribute` and `run status`: the
-- judged vantage's observations the judge has recorded, and the findings it has raised among them so
-- far (before the history's live findings are reconciled and the findings across hosts are added at
-- the end: the report's count may differ). Null until the run is judging.
ALTER TABLE runs ADD COLUMN hosts_judged integer;
ALTER TABLE runs ADD COLUMN findings_so_far integer;
