// The scriptable TN3270 host lives with the client negotiation's tests (test/tn3270/fixtures/
// fake-host.ts); host-link and gateway tests use it from here.
export * from '../tn3270/fixtures/fake-host.js'
