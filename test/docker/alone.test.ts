/**
 * The engine tests that need the engine to themselves, in one file so that they run one after another while the
 * unit and browser tests (which never touch the engine) run beside them:
 * - runs left behind on purpose (a kill -9, an engine cut off) that cleanup or the next run must find, which
 *   another run's start-up cleanup would take first;
 * - a host setting lowered for one run (the conntrack table);
 * - fill times estimated from one run and compared with the next: last, when the unit and browser tests, the
 *   typecheck and the lint beside it are done, so both runs have the cores to themselves.
 */
import './engine.alone.ts';
import './faults.alone.ts';
import './conntrack.alone.ts';
import './learned.alone.ts';
