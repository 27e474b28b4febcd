namespace RatingPipeline.Kafka;
