/** A request the caller can fix: the API answers it with a 422 naming the field. */
export class JobRequestRejected extends Error {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A job start the caller can fix (an unknown engine, items not in the project, …): a 422. */
export class StartJobRejected extends JobRequestRejected {}

/** An action on a job that its state refuses (it has ended, or is stalled): the API answers 409. */
export class JobActionRefused extends Error {}
