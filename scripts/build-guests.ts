// Placeholder until the guest build lands: nothing to build yet.
console.log('no guests to build');
