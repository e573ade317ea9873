// ssh2's client and key parser on their own: its index also loads the SSH server, the HTTP(S)
// agents (and with them Node's tls and http modules) and key generation, which kvmnet never uses.
declare module 'ssh2/lib/client.js' {
  import { Client } from 'ssh2';
  export default Client;
}
declare module 'ssh2/lib/protocol/keyParser.js' {
  import { utils } from 'ssh2';
  const keyParser: { parseKey: typeof utils.parseKey };
  export default keyParser;
}
