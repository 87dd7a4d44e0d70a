/** Issue 8, section 1: churn far below the memory limit keeps the heap near what is live (test/lib/churn-at-the-limit.ts). */
import { churnFarBelowTheLimit } from './lib/churn-at-the-limit.js';

churnFarBelowTheLimit(2, 4_000_000);
