// Setup of every jest project: drops TF.js's "install our node backend" banner, which the cpu backend prints once per
// test file (the tests use it as the reference on purpose). Every other warning still prints.
const warn = console.warn.bind(console);
console.warn = (...args) => {
  if (typeof args[0] === 'string' && args[0].includes('looks like you are running TensorFlow.js in Node.js')) return;
  warn(...args);
};
