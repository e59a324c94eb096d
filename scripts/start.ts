// Placeholder until `gojinn run` lands.
console.log('gojinn: nothing to start yet');
