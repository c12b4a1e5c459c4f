#!/usr/bin/env node
// The `lineup` command runs the TypeScript sources directly through tsx, so `npm ci` alone is
// enough to use it (no build step to forget) and it never runs stale code.
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')
