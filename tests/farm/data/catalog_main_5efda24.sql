-- The catalog schema made by main at 5efda24 (2026-12-02), before Alembic: SQLModel.metadata.create_all
-- on SQLite, as read back from sqlite_master. Frozen: tests/farm/test_catalog_migrations.py upgrades it.
CREATE TABLE collections (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	type VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_collections_name ON collections (name);
CREATE INDEX ix_collections_type ON collections (type);
CREATE TABLE hooks (
	id VARCHAR NOT NULL, 
	text VARCHAR NOT NULL, 
	category VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_hooks_category ON hooks (category);
CREATE TABLE lora_models (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	trigger_word VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	source VARCHAR NOT NULL, 
	training_images_file VARCHAR, 
	training_steps INTEGER NOT NULL, 
	weights_file VARCHAR, 
	high_noise_file VARCHAR, 
	config_file VARCHAR, 
	thumbnail VARCHAR, 
	rank INTEGER, 
	tensor_count INTEGER NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	info JSON NOT NULL, 
	cost_cents INTEGER NOT NULL, 
	error_message VARCHAR, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	completed_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE TABLE jobs (
	id VARCHAR NOT NULL, 
	type VARCHAR NOT NULL, 
	reference_id VARCHAR, 
	status VARCHAR NOT NULL, 
	progress INTEGER NOT NULL, 
	message VARCHAR NOT NULL, 
	external_request_id VARCHAR, 
	external_status VARCHAR, 
	task_id VARCHAR, 
	input_payload JSON NOT NULL, 
	output_payload JSON NOT NULL, 
	error_message VARCHAR, 
	cost_cents INTEGER NOT NULL, 
	attempts INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	completed_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_jobs_reference_id ON jobs (reference_id);
CREATE INDEX ix_jobs_status ON jobs (status);
CREATE INDEX ix_jobs_created_at ON jobs (created_at);
CREATE INDEX ix_jobs_type ON jobs (type);
CREATE TABLE variant_batches (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	total INTEGER NOT NULL, 
	options JSON NOT NULL, 
	zip_file VARCHAR, 
	zip_job_id VARCHAR, 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	completed_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_variant_batches_status ON variant_batches (status);
CREATE INDEX ix_variant_batches_expires_at ON variant_batches (expires_at);
CREATE TABLE lora_datasets (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	trigger_word VARCHAR NOT NULL, 
	caption_template VARCHAR NOT NULL, 
	resolution INTEGER NOT NULL, 
	crop VARCHAR NOT NULL, 
	is_person BOOLEAN NOT NULL, 
	folder VARCHAR NOT NULL, 
	zip_file VARCHAR, 
	thumbnail VARCHAR, 
	count INTEGER NOT NULL, 
	items JSON NOT NULL, 
	warnings JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE spend_reservations (
	id VARCHAR NOT NULL, 
	tool VARCHAR NOT NULL, 
	job_id VARCHAR, 
	estimate_cents INTEGER NOT NULL, 
	settled_cents INTEGER, 
	status VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_spend_reservations_job_id ON spend_reservations (job_id);
CREATE INDEX ix_spend_reservations_status ON spend_reservations (status);
CREATE INDEX ix_spend_reservations_created_at ON spend_reservations (created_at);
CREATE TABLE spend_lock (
	id INTEGER NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE transcripts (
	id VARCHAR NOT NULL, 
	content_hash VARCHAR NOT NULL, 
	model VARCHAR NOT NULL, 
	media_id VARCHAR, 
	words JSON NOT NULL, 
	text VARCHAR NOT NULL, 
	language VARCHAR NOT NULL, 
	edited BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_transcripts_media_id ON transcripts (media_id);
CREATE INDEX ix_transcripts_content_hash ON transcripts (content_hash);
CREATE TABLE audio_files (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	collection_id VARCHAR, 
	file VARCHAR NOT NULL, 
	duration_s FLOAT NOT NULL, 
	sample_rate INTEGER NOT NULL, 
	channels INTEGER NOT NULL, 
	codec VARCHAR NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(collection_id) REFERENCES collections (id)
);
CREATE INDEX ix_audio_files_collection_id ON audio_files (collection_id);
CREATE TABLE images (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	collection_id VARCHAR, 
	character_diagram_id VARCHAR, 
	file VARCHAR NOT NULL, 
	thumbnail VARCHAR, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	format VARCHAR NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(collection_id) REFERENCES collections (id)
);
CREATE INDEX ix_images_collection_id ON images (collection_id);
CREATE TABLE cost_records (
	id VARCHAR NOT NULL, 
	job_id VARCHAR, 
	job_type VARCHAR NOT NULL, 
	amount_cents INTEGER NOT NULL, 
	description VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE INDEX ix_cost_records_created_at ON cost_records (created_at);
CREATE INDEX ix_cost_records_job_id ON cost_records (job_id);
CREATE TABLE batch_webhooks (
	batch_id VARCHAR NOT NULL, 
	url VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	attempts INTEGER NOT NULL, 
	response_status INTEGER, 
	last_error VARCHAR, 
	created_at DATETIME NOT NULL, 
	delivered_at DATETIME, 
	PRIMARY KEY (batch_id), 
	FOREIGN KEY(batch_id) REFERENCES variant_batches (id)
);
CREATE INDEX ix_batch_webhooks_status ON batch_webhooks (status);
CREATE TABLE character_diagrams (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	source_image_id VARCHAR, 
	image_id VARCHAR, 
	file VARCHAR, 
	thumbnail VARCHAR, 
	provider VARCHAR NOT NULL, 
	notes VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	cost_cents INTEGER NOT NULL, 
	error_message VARCHAR, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(source_image_id) REFERENCES images (id)
);
CREATE TABLE videos (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	type VARCHAR NOT NULL, 
	collection_id VARCHAR, 
	parent_video_id VARCHAR, 
	character_diagram_id VARCHAR, 
	face_image_id VARCHAR, 
	batch_id VARCHAR, 
	kept BOOLEAN NOT NULL, 
	file VARCHAR NOT NULL, 
	thumbnail VARCHAR, 
	duration_s FLOAT NOT NULL, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	fps FLOAT NOT NULL, 
	has_audio BOOLEAN NOT NULL, 
	video_codec VARCHAR NOT NULL, 
	audio_codec VARCHAR NOT NULL, 
	rotation INTEGER NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(collection_id) REFERENCES collections (id), 
	FOREIGN KEY(parent_video_id) REFERENCES videos (id), 
	FOREIGN KEY(character_diagram_id) REFERENCES character_diagrams (id), 
	FOREIGN KEY(face_image_id) REFERENCES images (id), 
	FOREIGN KEY(batch_id) REFERENCES variant_batches (id)
);
CREATE INDEX ix_videos_batch_id ON videos (batch_id);
CREATE INDEX ix_videos_type ON videos (type);
CREATE INDEX ix_videos_collection_id ON videos (collection_id);
CREATE TABLE variants (
	id VARCHAR NOT NULL, 
	batch_id VARCHAR NOT NULL, 
	"index" INTEGER NOT NULL, 
	video_id VARCHAR NOT NULL, 
	audio_id VARCHAR, 
	hook_id VARCHAR, 
	job_id VARCHAR, 
	output_video_id VARCHAR, 
	status VARCHAR NOT NULL, 
	error VARCHAR, 
	file_name VARCHAR NOT NULL, 
	render_path VARCHAR NOT NULL, 
	snapshot JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(batch_id) REFERENCES variant_batches (id), 
	FOREIGN KEY(video_id) REFERENCES videos (id), 
	FOREIGN KEY(audio_id) REFERENCES audio_files (id), 
	FOREIGN KEY(hook_id) REFERENCES hooks (id), 
	FOREIGN KEY(job_id) REFERENCES jobs (id), 
	FOREIGN KEY(output_video_id) REFERENCES videos (id)
);
CREATE INDEX ix_variants_batch_id ON variants (batch_id);
