#!/usr/bin/env node
// Compiles Chainlink's own Solidity 0.6 price-feed contracts from the npm package
// @chainlink/contracts 0.8.0 (unpacked by scripts/setup.sh) with solc-js 0.6.6 (npm alias
// solc-0.6), into forge-style JSON artifacts ({"abi", "bytecode": {"object"},
// "deployedBytecode": {"object"}}) that chain::ContractAbi loads. The keeper never deploys these:
// they are the real peers the phase-change test runs against (issue 16, defect 9).
//
//   node chainlink_v06.js <package dir> <out dir>
'use strict';
const fs = require('fs');
const path = require('path');

const [pkgDir, outDir] = process.argv.slice(2);
if (!pkgDir || !outDir) {
  console.error('usage: chainlink_v06.js <@chainlink/contracts 0.8.0 dir> <out dir>');
  process.exit(2);
}
const here = __dirname;
const solcDir = path.join(here, '..', '..', 'node_modules', 'solc-0.6');
if (!fs.existsSync(path.join(solcDir, 'soljson.js'))) {
  console.error(`chainlink_v06: ${solcDir} missing; run scripts/setup.sh`);
  process.exit(1);
}
const solc = require(solcDir);
if (solc.version() !== '0.6.6+commit.6c089d02.Emscripten.clang') {
  console.error(`chainlink_v06: solc-js ${solc.version()}, expected 0.6.6`);
  process.exit(1);
}
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
if (pkg.name !== '@chainlink/contracts' || pkg.version !== '0.8.0') {
  console.error(`chainlink_v06: ${pkgDir} holds ${pkg.name} ${pkg.version}, not 0.8.0`);
  process.exit(1);
}

// The proxy every Chainlink data feed is read through, the mock aggregator Chainlink's own tests
// put behind it, and the read access controller mainnet proxies are deployed with.
const contracts = {
  EACAggregatorProxy: 'src/v0.6/EACAggregatorProxy.sol',
  MockV3Aggregator: 'src/v0.6/tests/MockV3Aggregator.sol',
  SimpleReadAccessController: 'src/v0.6/SimpleReadAccessController.sol',
};
const sources = {};
for (const file of Object.values(contracts)) {
  sources[file] = {content: fs.readFileSync(path.join(pkgDir, file), 'utf8')};
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: {enabled: true, runs: 200},
    outputSelection: {'*': {'*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object']}},
  },
};
// Imports are relative ("./AggregatorProxy.sol"): solc resolves them to paths inside the package.
const findImports = (p) => {
  const full = path.join(pkgDir, p);
  return fs.existsSync(full) ? {contents: fs.readFileSync(full, 'utf8')} : {error: `not found: ${p}`};
};
const output = JSON.parse(solc.compile(JSON.stringify(input), {import: findImports}));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
fs.mkdirSync(outDir, {recursive: true});
for (const [name, file] of Object.entries(contracts)) {
  const c = output.contracts[file][name];
  const artifact = {
    abi: c.abi,
    bytecode: {object: '0x' + c.evm.bytecode.object},
    deployedBytecode: {object: '0x' + c.evm.deployedBytecode.object},
    compiler: solc.version(),
    source: `@chainlink/contracts@${pkg.version}/${file}`,
  };
  fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(artifact));
}
