/** Nothing shared to stop: every test file owns its database and Temporal environment. */
export default async function globalTeardown(): Promise<void> {}
