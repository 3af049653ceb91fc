/** The CDK app (`cdk.json`): `npx cdk synth` offline, `npx cdk deploy` to an account. */
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StreamingDemoStack } from './demo-stack.js';

const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
new StreamingDemoStack(app, 'StreamingDemo', account && region ? { env: { account, region } } : {});
Aspects.of(app).add(new AwsSolutionsChecks());
app.synth();
