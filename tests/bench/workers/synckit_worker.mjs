import { runAsWorker } from "npm:synckit@0.11.8";
runAsWorker((a, b) => a + b);
