/** Errors of the simulator, each with a stable `name` (tests and the CLI match on it). */

/** An event queue or in-flight bound was exceeded: a message storm, or a simulator bug. */
export class SimQueueOverflowError extends Error {
  override readonly name = 'SimQueueOverflowError';
  constructor(readonly limit: number) {
    super(`simulator event queue exceeded ${limit} events`);
  }
}

export class UnknownSimProtocolError extends Error {
  override readonly name = 'UnknownSimProtocolError';
  constructor(readonly protocol: string, readonly known: readonly string[]) {
    super(`unknown simulator protocol "${protocol}" (known: ${known.join(', ')})`);
  }
}

/** A fault verb named a node the simulation does not have. */
export class UnknownSimNodeError extends Error {
  override readonly name = 'UnknownSimNodeError';
  constructor(readonly node: string) {
    super(`no simulated node "${node}"`);
  }
}
