// Loaded with `node --import` before the CLI: makes process.stdout.write throw a TypeError when what
// is written matches KVMNET_TEST_CRASH_ON, standing in for a bug in kvmnet (only tests use it). With
// KVMNET_TEST_CRASH_LATER=1 the error is thrown from a later callback instead, outside any command.
const pattern = new RegExp(process.env.KVMNET_TEST_CRASH_ON ?? '(?!)');
const later = process.env.KVMNET_TEST_CRASH_LATER === '1';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  if (pattern.test(String(chunk))) {
    const bug = new TypeError('simulated bug: stdout.write refused');
    if (!later) throw bug;
    setImmediate(() => {
      throw bug;
    });
  }
  return write(chunk, ...rest);
};
