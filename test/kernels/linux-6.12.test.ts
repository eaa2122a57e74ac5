import { kernelSuite } from './kernel-suite.ts';

kernelSuite('6.12');
