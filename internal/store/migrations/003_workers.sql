-- The processes that work days. Each holds the advisory lock (WorkerLockKey, id) on a
-- connection of its own for as long as it lives, and names itself to River by its id, so
-- a job whose worker's lock is free has lost its process: its day is queued again at once.
CREATE TABLE workers (
    id          integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue       text        NOT NULL,
    host        text        NOT NULL,
    pid         integer     NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now()
);
