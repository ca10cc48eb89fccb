// The interop matrix in TN3270 mode (`N:`, RFC 1576): every row of test/helpers/interop.ts with the real
// s3270, directly at a gateway and through the proxy, against one demo (query BINDs, DEFAPPL DEMO).
// Rows run in parallel (each s3270 takes its own LU; the demo has 16 LUs per gateway).
import t from 'tap'
import { runInteropMatrix } from '../helpers/interop.js'

t.test('interop matrix, tn3270: s3270 rows direct and through the proxy', async t => {
  await runInteropMatrix(t, 'tn3270')
})
