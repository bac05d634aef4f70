// Evaluates a batch of IAM requests with a real policy evaluator, npm @cloud-copilot/iam-simulate (AGPL-3.0:
// a test tool, never packaged). `make iam-simulate` installs it; tools/iam_evaluator.py is the Python side.
//
//   IAM_SIMULATE_DIR=.cache/iam-simulate-0.1.173 node tools/iam_simulate.mjs < cases.json > results.json
//
// stdin: a JSON array of cases {principal, action, resource, resourceAccount, context: {key: string | string[]},
//        identityPolicies: [doc], resourcePolicy: doc | null, permissionBoundaries: [doc] | null}
// stdout: a JSON array, one result per case in order:
//        {result: "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" (the simulator's overall result), errors: null,
//         ignoredContextKeys: [keys the action does not take, dropped before evaluation]}
//     or {result: "Error", errors: {message, ...the simulator's validation errors per policy}} for a case the
//        simulator refused (a malformed policy, an unknown action, a resource the action does not take...).
// Exit status 2 with a message on stderr when the input or IAM_SIMULATE_DIR is unusable.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

function fail(message) {
  process.stderr.write(`iam_simulate.mjs: ${message}\n`)
  process.exit(2)
}

async function loadSimulator() {
  const dir = process.env.IAM_SIMULATE_DIR
  if (!dir) fail('IAM_SIMULATE_DIR is not set; run `make iam-simulate` and point it at .cache/iam-simulate-<version>')
  const entry = join(dir, 'node_modules', '@cloud-copilot', 'iam-simulate', 'dist', 'esm', 'index.js')
  try {
    return await import(pathToFileURL(entry).href)
  } catch (error) {
    fail(`cannot load iam-simulate from ${entry} (${error.message}); run \`make iam-simulate\``)
  }
}

const REQUIRED = ['principal', 'action', 'resource', 'resourceAccount']

function simulationFor(c, index) {
  const missing = REQUIRED.filter((key) => typeof c?.[key] !== 'string' || c[key] === '')
  if (missing.length) fail(`case ${index}: ${missing.join(', ')} must be non-empty strings`)
  const named = (prefix, docs) => docs.map((policy, n) => ({ name: `${prefix}-${n}`, policy }))
  return {
    request: {
      principal: c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: c.resourceAccount },
      contextVariables: c.context ?? {},
    },
    identityPolicies: named('identity', c.identityPolicies ?? []),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(c.resourcePolicy ? { resourcePolicy: c.resourcePolicy } : {}),
    ...(c.permissionBoundaries ? { permissionBoundaryPolicies: named('boundary', c.permissionBoundaries) } : {}),
  }
}

// iam-simulate reads a date without a zone in the process's local time, compares an all-digit date as epoch
// seconds against ISO dates as epoch milliseconds (so it is always "earlier"), and keeps only the first element
// of a list given for a single-valued key. Such request values are refused here rather than misread.
process.env.TZ = 'UTC'
const ISO_DATE_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

async function contextErrors(typeForContextKey, context) {
  if (typeof context !== 'object' || context === null || Array.isArray(context)) return ['context must be an object']
  const errors = []
  for (const [key, value] of Object.entries(context)) {
    const values = [value].flat()
    if (values.length === 0 || values.some((v) => typeof v !== 'string')) {
      errors.push(`${key}: a value must be a string or a non-empty list of strings`)
      continue
    }
    let type
    try {
      type = await typeForContextKey(key)
    } catch {
      continue // not a key iam-simulate knows: dropped before evaluation, reported in ignoredContextKeys
    }
    if (Array.isArray(value) && !type.startsWith('ArrayOf')) {
      errors.push(`${key} takes one value (${type}), not a list`)
    }
    const epochAllowed = key.toLowerCase() === 'aws:epochtime'
    for (const v of type.endsWith('Date') ? values : []) {
      if (!ISO_DATE_WITH_ZONE.test(v) && !(epochAllowed && /^\d+$/.test(v))) {
        errors.push(`${key}: '${v}' must be an ISO 8601 time with a zone, e.g. 2026-12-01T23:00:00Z`)
      }
    }
  }
  return errors
}

async function evaluate({ runSimulation, typeForContextKey }, c, index) {
  const badContext = await contextErrors(typeForContextKey, c?.context ?? {})
  if (badContext.length) return { result: 'Error', errors: { message: 'context.errors', contextErrors: badContext } }
  const response = await runSimulation(simulationFor(c, index), {})
  if (response.resultType === 'error') return { result: 'Error', errors: response.errors }
  const results = response.resultType === 'single' ? [response.result] : response.results
  const ignored = [...new Set(results.flatMap((r) => r.ignoredContextKeys ?? []))]
  return { result: response.overallResult, errors: null, ignoredContextKeys: ignored }
}

const simulator = await loadSimulator()
let cases
try {
  cases = JSON.parse(readFileSync(0, 'utf8'))
} catch (error) {
  fail(`stdin is not JSON: ${error.message}`)
}
if (!Array.isArray(cases)) fail('stdin must be a JSON array of cases')
const results = []
for (const [index, c] of cases.entries()) {
  try {
    results.push(await evaluate(simulator, c, index))
  } catch (error) {
    results.push({ result: 'Error', errors: { message: `iam-simulate threw: ${error.stack ?? error}` } })
  }
}
process.stdout.write(JSON.stringify(results) + '\n')
